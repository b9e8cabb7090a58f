#!/usr/bin/env bash
# Runs `smelt ladder` on every table of data/ and ../shared/data with no hand tuning (the
# issue's robustness check): each must finish with a best rung, or stop with a clear error
# (a table with no usable feature). Prints one line per table.
#
# Usage: bench/ladder_all.sh [SMELT_BINARY] [BUDGET]   (default: the release binary, 60s)
set -uo pipefail
cd "$(dirname "$0")/.."
SMELT=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/smelt-target}/release/smelt}
BUDGET=${2:-60s}
SHARED=../shared/data
OUT=${OUT:-/tmp/smelt-ladder-all}
mkdir -p "$OUT"
# file | target | extra arguments (time or group columns the data declares in its README)
TABLES=(
  "data/adult.csv|income|"
  "data/titanic.csv|survived|"
  "data/penguins.csv|species|"
  "data/iris.csv|target|"
  "data/breast_cancer.csv|target|"
  "data/credit.csv|status|"
  "data/housing.csv|med_house_val|"
  "data/nyc_weather.csv|temp|--time time_hour"
  "data/txhousing.csv|sales|--group city"
  "data/seattle_weather.csv|weather|--time date"
  "data/car_loan.csv|repaid|"
  "data/reviews.parquet|rating|"
  "$SHARED/air_passengers.csv|passengers|--time date"
  "$SHARED/co2.csv|co2|--time date"
  "$SHARED/diabetes.csv|target|"
  "$SHARED/digits.csv|label|"
  "$SHARED/elec_demand.csv|demand|--time timestamp"
  "$SHARED/mnist5k.csv|label|"
  "$SHARED/sms_spam.csv|label|"
  "$SHARED/sunspots.csv|sunactivity|--time year"
  "$SHARED/wine.csv|target|"
)
printf '%-28s %-8s %-34s %-24s %8s\n' table status best score seconds
for t in "${TABLES[@]}"; do
  IFS='|' read -r file target extra <<<"$t"
  name=$(basename "$file" | sed 's/\.[a-z]*$//')
  [[ -f $file ]] || { printf '%-28s %-8s\n' "$name" missing; continue; }
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$SMELT" ladder "$file" --target "$target" $extra --budget "$BUDGET" --no-track --json \
    --out "$OUT/$name/model" --report "$OUT/$name/report.html" >"$OUT/$name.json" 2>"$OUT/$name.err"
  rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  if [[ $rc == 0 ]]; then
    best=$(python3 -c "import json,sys; d=json.load(open('$OUT/$name.json'))['data']; b=[r for r in d['rungs'] if r['model']==d['best']][0]; m=b['metrics'][0]; print(d['best'] + '|' + f\"{m['metric']} {m['mean']:.4f}\")")
    printf '%-28s %-8s %-34s %-24s %8.1f\n' "$name" ok "${best%%|*}" "${best#*|}" "$secs"
  else
    printf '%-28s %-8s %s\n' "$name" "error" "$(grep -m1 '^error' "$OUT/$name.err")"
  fi
done

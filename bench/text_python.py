"""Issue 18's text baselines, side by side with Smelt's text classifiers (bench/text.sh).

  split  DATA OUT_DIR --train N --test M   the reviews table → train.csv / test.csv (`text` =
         title + ". " + review_text, target `recommended_ind`), stratified, seeded; and the SMS
         table → sms_train.csv / sms_test.csv (80 / 20)
  score  TRAIN TEST TARGET [SMELT_PREDICTIONS]   TF-IDF + logistic regression fitted on TRAIN,
         the majority class, and Smelt's predictions (a Parquet file from `smelt predict`),
         all scored on TEST: one JSON line each (accuracy, ROC AUC, seconds)
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline


def split(data_dir, out, n_train, n_test):
    r = pd.read_parquet(f"{data_dir}/reviews.parquet")
    r = r[r["review_text"].notna() & (r["review_text"].str.strip() != "")]
    text = np.where(r["title"].notna(), r["title"].fillna("") + ". " + r["review_text"], r["review_text"])
    df = pd.DataFrame({"text": text, "recommended_ind": r["recommended_ind"].astype(int)})
    train, rest = train_test_split(df, train_size=n_train, stratify=df["recommended_ind"], random_state=0)
    test, _ = train_test_split(rest, train_size=n_test, stratify=rest["recommended_ind"], random_state=0)
    train.to_csv(f"{out}/train.csv", index=False)
    test.to_csv(f"{out}/test.csv", index=False)
    sms = pd.read_csv(f"{data_dir}/sms_spam.csv")
    a, b = train_test_split(sms, test_size=0.2, stratify=sms["label"], random_state=0)
    a.to_csv(f"{out}/sms_train.csv", index=False)
    b.to_csv(f"{out}/sms_test.csv", index=False)


def score(train_path, test_path, target, smelt=None):
    train = pd.read_csv(train_path)
    test = pd.read_csv(test_path)
    classes = np.unique(train[target].astype(str))
    positive = classes[-1]
    y = (test[target].astype(str) == positive).astype(int).to_numpy()
    tag = {"train_rows": len(train), "test_rows": len(test)}
    majority = train[target].astype(str).mode()[0]
    print(json.dumps({"tool": "majority", **tag,
                      "accuracy": round(float((test[target].astype(str) == majority).mean()), 4)}))
    t0 = time.perf_counter()
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                          LogisticRegression(max_iter=1000, C=4.0))
    model.fit(train["text"], train[target].astype(str))
    fit = time.perf_counter() - t0
    p = model.predict_proba(test["text"])[:, list(model.classes_).index(positive)]
    print(json.dumps({"tool": "tfidf_logreg", **tag, "fit_seconds": round(fit, 2),
                      "accuracy": round(float(accuracy_score(y, p >= 0.5)), 4),
                      "roc_auc": round(float(roc_auc_score(y, p)), 4)}))
    if smelt:
        s = pd.read_parquet(smelt)
        col = f"proba_{positive}"
        q = s[col].to_numpy()
        print(json.dumps({"tool": "smelt", **tag,
                          "accuracy": round(float(accuracy_score(y, q >= 0.5)), 4),
                          "roc_auc": round(float(roc_auc_score(y, q)), 4)}))


if __name__ == "__main__":
    if sys.argv[1] == "split":
        split(sys.argv[2], sys.argv[3], int(sys.argv[5]), int(sys.argv[7]))
    else:
        score(*sys.argv[2:])

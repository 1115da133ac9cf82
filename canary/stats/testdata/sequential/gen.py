#!/usr/bin/python3
"""Reference values for canary/stats's sequential tests, computed with SciPy
independently of the Go code:

  * QuantileExceedance(n1, n2, q) as the integral
        P(U1 > U2) = ∫ f_{Beta(r1, n1-r1+1)}(u) · F_{Beta(r2, n2-r2+1)}(u) du,
    r = ceil(q·n) (U = F(X_(r)) is Beta-distributed for any continuous F),
    by scipy.integrate.quad — not the beta-binomial sum the Go code uses;
    scipy.stats.betabinom.cdf is recorded beside it as a second opinion.
  * the mixture e-value and the sequential p-value of a sequence of updates,
    from scipy.stats.binom.logpmf ratios (not the closed form
    x·δ − n·log(1 − p0 + p0·e^δ)) and scipy.special.logsumexp with the
    prior's weights (uniform, or saturating: 1/4 spread over the grid,
    3/4 on δ ≥ 3);
  * the weighted mixture (stats.Mix) of two such tests' e-values.

Run from the repository root:
    /usr/bin/python3 canary/stats/testdata/sequential/gen.py > canary/stats/testdata/sequential/reference.json
Provenance (versions) is written into the output.
"""
import json, math, sys
import numpy as np
import scipy
from scipy import integrate, special, stats

GRID = [0.25 * k for k in range(1, 29)]
PRIORS = {
    "uniform": [1 / 28] * 28,
    "saturating": [0.25 / 28 + (0.75 / 17 if d >= 3 else 0) for d in GRID],
}


def rank(n, q):
    return max(1, math.ceil(q * n))


def exceedance(n1, n2, q):
    r1, r2 = rank(n1, q), rank(n2, q)
    b1 = stats.beta(r1, n1 - r1 + 1)
    b2 = stats.beta(r2, n2 - r2 + 1)
    lo = max(0.0, min(b1.ppf(1e-14), b2.ppf(1e-14)))
    hi = min(1.0, max(b1.isf(1e-14), b2.isf(1e-14)))
    mids = sorted({float(b1.mean()), float(b2.mean())})
    val, err = integrate.quad(lambda u: b1.pdf(u) * b2.cdf(u), lo, hi, points=mids, limit=500,
                              epsabs=1e-13, epsrel=1e-12)
    bb = stats.betabinom(n1, r2, n2 - r2 + 1).cdf(r1 - 1)
    return val, err, float(bb)


def mixture(updates, prior="uniform"):
    """updates: [(x, n, p0)] -> per step (logE, pValue)."""
    w = np.array(PRIORS[prior])
    assert abs(w.sum() - 1) < 1e-12
    log_lr = np.zeros(len(GRID))
    log_max = 0.0
    out = []
    for x, n, p0 in updates:
        if n > 0 and 0 < p0 and not (p0 == 1 and x == n):
            for k, d in enumerate(GRID):
                th = p0 * math.exp(d) / (1 - p0 + p0 * math.exp(d))
                log_lr[k] += stats.binom.logpmf(x, n, th) - stats.binom.logpmf(x, n, p0)
        log_e = float(special.logsumexp(log_lr, b=w))
        if n > 0 and 0 < p0 and not (p0 == 1 and x == n):
            log_max = max(log_max, log_e)
        out.append({"logE": log_e, "pValue": min(1.0, math.exp(-log_max))})
    return out


def main():
    quant = []
    for n1, n2, q in [(1, 1, 0.99), (3, 3, 0.5), (10, 90, 0.99), (100, 900, 0.99), (60, 540, 0.99),
                      (1000, 1000, 0.99), (7, 13, 0.5), (120, 1080, 0.9), (50, 450, 0.5),
                      (300, 2700, 0.99), (1, 9, 0.99), (500, 4500, 0.99), (2000, 18000, 0.99)]:
        val, err, bb = exceedance(n1, n2, q)
        quant.append({"n1": n1, "n2": n2, "q": q, "p": val, "quadError": err, "betabinomCDF": bb})

    seqs = []
    # The worked example of sequential.go: three periods, 3 of 5 errors at p0 = 0.1.
    seqs.append({"name": "worked example", "updates": [[3, 5, 0.1]] * 3})
    # Healthy-looking counts: shares at the null.
    seqs.append({"name": "null-like", "updates": [[1, 10, 0.1], [0, 8, 0.1], [2, 12, 0.1], [1, 9, 0.1]]})
    # Shifting weights, as a linear rollout does.
    seqs.append({"name": "linear weights", "updates": [[2, 11, 0.1], [4, 12, 0.2], [5, 13, 0.3], [9, 14, 0.4]]})
    # A clear fault: 15% against 1% at a 10% canary: ~6.8 errors, 5.4 of them the candidate's.
    seqs.append({"name": "fault", "updates": [[12, 21, 100 / 1000], [15, 24, 100 / 1000]]})
    # Sign trials of the latency test: candidate slower in every period, p0 = 0.3026...
    p0 = exceedance(100, 900, 0.99)[0]
    seqs.append({"name": "latency signs", "updates": [[1, 1, p0]] * 8 + [[0, 1, p0]]})
    # A ratio of 1.5 tolerated: p0 = 1.5·n1/(1.5·n1 + n2).
    seqs.append({"name": "ratio 1.5", "updates": [[3, 4, 1.5 * 50 / (1.5 * 50 + 450)], [6, 8, 1.5 * 60 / (1.5 * 60 + 440)]]})
    # The latency test's prior (canary.Sequential): five periods with the
    # candidate's p99 higher at p0 = 0.41 and 0.47, then one lower.
    seqs.append({"name": "saturating p0 0.41", "prior": "saturating", "updates": [[1, 1, 0.41]] * 5 + [[0, 1, 0.41]]})
    seqs.append({"name": "saturating p0 0.47", "prior": "saturating", "updates": [[1, 1, 0.47]] * 5})
    seqs.append({"name": "saturating latency signs", "prior": "saturating", "updates": [[1, 1, p0]] * 3 + [[0, 1, p0]] + [[1, 1, p0]] * 4})
    seqs.append({"name": "saturating counts", "prior": "saturating", "updates": [[3, 5, 0.1]] * 2})
    for s in seqs:
        s.setdefault("prior", "uniform")
        s["steps"] = mixture(s["updates"], s["prior"])

    # stats.Mix: a healthy-looking error test and a regressed latency test,
    # weighted 1 and 9 as canary.Sequential weighs a rate and a latency.
    mixes = []
    for name, a, b, weights in [
        ("errors null, latency regressed", 1, 7, [1, 9]),
        ("worked example and latency signs", 0, 4, [1, 1]),
        ("fault and saturating", 3, 8, [1, 9]),
    ]:
        la, lb = seqs[a]["steps"][-1]["logE"], seqs[b]["steps"][-1]["logE"]
        v = np.array(weights, dtype=float) / sum(weights)
        mixes.append({"name": name, "a": seqs[a]["name"], "b": seqs[b]["name"], "weights": weights,
                      "logMix": float(special.logsumexp([la, lb], b=v))})

    json.dump({
        "provenance": {
            "generator": "canary/stats/testdata/sequential/gen.py",
            "python": sys.version.split()[0],
            "scipy": scipy.__version__,
            "numpy": np.__version__,
            "grid": "delta_k = 0.25k, k = 1..28; priors: uniform = 1/28 each; saturating = 1/112 each + 3/68 on delta >= 3",
        },
        "quantileExceedance": quant,
        "sequences": seqs,
        "mixes": mixes,
    }, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

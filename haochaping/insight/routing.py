"""Routing suggestion (分派建议): the 部门类别 a complaint is about, from its text, with a confidence.

Complaints that arrive without a unit (hotline, public form with only the region) open at the region's management
agency; the live router (``Router`` named ``default``) suggests a category and the unit of that category in the
region; a handler confirms or corrects, which transfers the case and stores the text with its label as a
``RoutingExample`` for the next training.

Model: TF-IDF of the segmented terms (insight/text.py) plus TF-IDF of character 1–3-grams of the masked text (robust
to misspellings and to words the segmenter splits), multinomial logistic regression for calibrated-enough
probabilities. docs/insight.md ("Routing suggestion") gives the data used and the held-out accuracy.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
from django.db import transaction
from django.utils import timezone

from haochaping.directory.categories import known_categories, unit_category
from haochaping.insight import text as insight_text
from haochaping.insight.csvfile import read_csv, require_column
from haochaping.insight.models import CommentDoc, Router, RoutingExample, RoutingSuggestion, Source
from haochaping.lib.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

log = logging.getLogger(__name__)

DEFAULT = "default"
CONFIDENT = 0.6  # suggestions below this are shown as uncertain; the report gives coverage/accuracy above it
MIN_EXAMPLES = 20
MIN_LABELS = 2
CORRECTION_WEIGHT = 2.0  # a handler's correction is the router's mistake: it counts twice
WORD_FEATURES = 20_000
CHAR_FEATURES = 40_000


# --- the model --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """A text as the model reads it: masked text (for character n-grams) and its terms, space-separated."""

    text: str
    terms: str


def prepare(texts: Sequence[str], pipe: insight_text.Pipeline | None = None) -> list[Doc]:
    """Normalise, mask and segment raw texts (the installation's pipeline unless one is given)."""
    pipe = pipe or insight_text.pipeline()
    docs = []
    for raw in texts:
        p = pipe.prepare(str(raw or ""))
        docs.append(Doc(p.text, " ".join(p.terms)))
    return docs


class RouterModel:
    """Two TF-IDF vectorisers and a logistic regression; picklable (stored in Router.model)."""

    def __init__(self, *, c: float = 8.0, seed: int = 0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.words = TfidfVectorizer(
            analyzer=str.split, max_features=WORD_FEATURES, sublinear_tf=True, min_df=1, dtype=np.float32
        )
        self.chars = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), max_features=CHAR_FEATURES, sublinear_tf=True, min_df=2,
            dtype=np.float32,
        )  # fmt: skip
        self.clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)

    def _features(self, docs: Sequence[Doc], *, fit: bool = False):
        from scipy.sparse import hstack

        terms = [d.terms for d in docs]
        chars = [d.text for d in docs]
        if fit:
            w, ch = self.words.fit_transform(terms), self.chars.fit_transform(chars)
        else:
            w, ch = self.words.transform(terms), self.chars.transform(chars)
        return hstack([w, ch]).tocsr().astype(np.float32)

    def fit(self, docs: Sequence[Doc], labels: Sequence[str], weights: Sequence[float] | None = None) -> RouterModel:
        self.clf.fit(self._features(docs, fit=True), list(labels), sample_weight=weights)
        self.clf.coef_ = self.clf.coef_.astype(np.float32)
        self.clf.intercept_ = self.clf.intercept_.astype(np.float32)
        return self

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.clf.classes_]

    def proba(self, docs: Sequence[Doc]) -> np.ndarray:
        return self.clf.predict_proba(self._features(docs))

    def ranked(self, docs: Sequence[Doc], k: int = 3) -> list[list[tuple[str, float]]]:
        """Per doc, the k most likely labels with their probability, best first."""
        labels = self.labels
        out = []
        for row in self.proba(docs):
            order = np.argsort(-row)[:k]
            out.append([(labels[i], round(float(row[i]), 4)) for i in order])
        return out


def dumps(model: RouterModel) -> bytes:
    buf = io.BytesIO()
    joblib.dump(model, buf, compress=3)
    return buf.getvalue()


def loads(data: bytes) -> RouterModel:
    return joblib.load(io.BytesIO(bytes(data)))


# --- training and evaluation ---------------------------------------------------------------------------------


def _split(labels: Sequence[str], heldout: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified (train, test) indices; labels with fewer than 2 examples stay in training."""
    from sklearn.model_selection import train_test_split

    counts = Counter(labels)
    eligible = [i for i, y in enumerate(labels) if counts[y] >= 2]
    rare = [i for i, y in enumerate(labels) if counts[y] < 2]
    n_labels = len({labels[i] for i in eligible})
    n_test = max(round(heldout * len(eligible)), n_labels)
    if heldout <= 0 or n_labels < 2 or n_test >= len(eligible) - n_labels:
        return list(range(len(labels))), []
    train, test = train_test_split(
        eligible, test_size=n_test, random_state=seed, stratify=[labels[i] for i in eligible]
    )
    return sorted(train + rare), sorted(test)


def evaluate(model: RouterModel, docs: Sequence[Doc], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, top-2 accuracy, macro-F1, per-label precision/recall/support, and the confident subset's
    coverage and accuracy (confidence ≥ CONFIDENT)."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    ranked = model.ranked(docs, k=2)
    predicted = [r[0][0] for r in ranked]
    truth = list(labels)
    n = len(truth)
    hits = [p == t for p, t in zip(predicted, truth, strict=True)]
    top2 = [t in {lab for lab, _ in r} for r, t in zip(ranked, truth, strict=True)]
    sure = [i for i, r in enumerate(ranked) if r[0][1] >= CONFIDENT]
    names = sorted(set(truth) | set(predicted))
    p, r, f, s = precision_recall_fscore_support(truth, predicted, labels=names, zero_division=0)
    return {
        "n": n,
        "accuracy": round(sum(hits) / n, 4) if n else None,
        "top2": round(sum(top2) / n, 4) if n else None,
        "macro_f1": round(float(f1_score(truth, predicted, labels=names, average="macro", zero_division=0)), 4),
        "confident": {
            "threshold": CONFIDENT,
            "coverage": round(len(sure) / n, 4) if n else None,
            "accuracy": round(sum(hits[i] for i in sure) / len(sure), 4) if sure else None,
        },
        "per_label": {
            name: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, name in enumerate(names)
        },  # fmt: skip
    }


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    heldout: float = 0.2,
    seed: int = 0,
    weights: Sequence[float] | None = None,
    pipe: insight_text.Pipeline | None = None,
    docs: Sequence[Doc] | None = None,
) -> tuple[RouterModel, dict[str, Any]]:
    """Train on a held-out split and report on the rest, then refit on everything (the model returned).

    ``texts`` are raw (prepared here through the pipeline) unless ``docs`` are given already prepared."""
    labels = [str(y).strip() for y in labels]
    docs = list(docs) if docs is not None else prepare(texts, pipe)
    if len(docs) != len(labels):
        raise ValidationFailed("文字与标注的条数不一致", field="label_column")
    if len(set(labels)) < MIN_LABELS:
        raise ValidationFailed("至少需要两个不同的部门类别", field="label_column")
    w = list(weights) if weights is not None else [1.0] * len(labels)
    train, test = _split(labels, heldout, seed)
    report: dict[str, Any] = {"examples": len(labels), "labels": dict(Counter(labels).most_common()), "heldout": 0}
    if test:
        m = RouterModel(seed=seed).fit([docs[i] for i in train], [labels[i] for i in train], [w[i] for i in train])
        report.update(evaluate(m, [docs[i] for i in test], [labels[i] for i in test]), heldout=len(test))
    model = RouterModel(seed=seed).fit(docs, labels, w)
    return model, report


def store(name: str, model: RouterModel, report: dict[str, Any], *, source: str) -> Router:
    router, _ = Router.objects.update_or_create(
        name=name,
        defaults={
            "labels": model.labels,
            "examples": report["examples"],
            "heldout": report.get("heldout", 0),
            "accuracy": report.get("accuracy"),
            "report": report,
            "source": source[:200],
            "model": dumps(model),
        },
    )
    return router


_loaded: dict[str, tuple[Any, RouterModel]] = {}


def load(name: str = DEFAULT) -> tuple[Router, RouterModel] | None:
    """The stored router and its model, cached per process until it is retrained (keyed by trained_at)."""
    router = Router.objects.defer("model").filter(name=name).first()
    if router is None:
        return None
    cached = _loaded.get(name)
    if cached is None or cached[0] != router.trained_at:
        data = Router.objects.values_list("model", flat=True).get(pk=router.pk)
        cached = (router.trained_at, loads(data))
        _loaded[name] = cached
    return router, cached[1]


def _training_rows(include_reviews: bool) -> tuple[list[Doc], list[str], list[float]]:
    """Labelled texts of this installation (see docs/insight.md): decided suggestions and imports, complaints at
    their current unit (transfers correct the routing), optionally 差评 comments."""
    from haochaping.cases.models import Case

    pipe = insight_text.pipeline()
    docs: list[Doc] = []
    labels: list[str] = []
    weights: list[float] = []
    labelled_cases: set[int] = set()
    for text, label, origin, case_id in RoutingExample.objects.values_list("text", "label", "origin", "case_id"):
        p = pipe.prepare(text)
        docs.append(Doc(p.text, " ".join(p.terms)))
        labels.append(label)
        weights.append(CORRECTION_WEIGHT if origin == RoutingExample.Origin.CORRECTED else 1.0)
        if case_id:
            labelled_cases.add(case_id)
    # Complaints with a suggestion are labelled only once decided (above): until then they sit at the agency.
    suggested = set(RoutingSuggestion.objects.values_list("case_id", flat=True))
    complaint_docs = CommentDoc.objects.filter(source=Source.COMPLAINT).values_list("source_id", "text", "tokens")
    rows = list(complaint_docs)
    units = dict(Case.objects.filter(pk__in=[r[0] for r in rows]).select_related("unit").values_list("pk", "unit_id"))
    from haochaping.directory.models import Organisation

    unit_rows = Organisation.objects.filter(pk__in=set(units.values())).only("name", "category", "kind")
    by_unit = {u.pk: u for u in unit_rows}
    for case_id, text, tokens in rows:
        unit = by_unit.get(units.get(case_id))
        if unit is None or case_id in labelled_cases or case_id in suggested or unit.kind == unit.Kind.AGENCY:
            continue
        docs.append(Doc(text, tokens.strip()))
        labels.append(unit_category(unit))
        weights.append(1.0)
    if include_reviews:
        reviews = CommentDoc.objects.filter(source=Source.RATING, is_bad=True).values_list("unit_id", "text", "tokens")
        for unit_id, text, tokens in reviews:
            unit = by_unit.get(unit_id) or Organisation.objects.only("name", "category", "kind").get(pk=unit_id)
            by_unit[unit_id] = unit
            if unit.kind != unit.Kind.AGENCY:
                docs.append(Doc(text, tokens.strip()))
                labels.append(unit_category(unit))
                weights.append(1.0)
    return docs, labels, weights


def train_from_database(name: str = DEFAULT, *, include_reviews: bool = False) -> Router | None:
    """Retrain the router from this installation's labelled texts; None (router unchanged) when there are fewer
    than MIN_EXAMPLES texts or MIN_LABELS categories."""
    docs, labels, weights = _training_rows(include_reviews)
    if len(labels) < MIN_EXAMPLES or len(set(labels)) < MIN_LABELS:
        log.info("routing: not enough labelled texts (%s, %s labels)", len(labels), len(set(labels)))
        return None
    model, report = fit([], labels, weights=weights, docs=docs)
    source = "database: complaints, routing examples" + (", bad reviews" if include_reviews else "")
    return store(name, model, report, source=source)


# --- suggestions ----------------------------------------------------------------------------------------------


def suggest(text: str, name: str = DEFAULT, k: int = 3) -> list[tuple[str, float]]:
    """The k most likely categories of a raw text with their probability; [] when no router is stored."""
    loaded = load(name)
    if loaded is None:
        return []
    return loaded[1].ranked(prepare([text]), k=k)[0]


def unit_for(region, label: str):
    """The active unit of this category in the region, else in its nearest ancestor region; None if none."""
    from haochaping.directory.models import Organisation, Region

    codes = [c for c in region.path.split("/") if c]
    regions = {r.code: r.pk for r in Region.objects.filter(code__in=codes)}
    for code in reversed(codes):
        units = Organisation.objects.filter(region_id=regions.get(code), is_active=True).order_by("id")
        for unit in units.only("name", "category", "kind"):
            if unit.kind != unit.Kind.AGENCY and unit_category(unit) == label:
                return unit
    return None


def suggest_for_case(case, name: str = DEFAULT) -> RoutingSuggestion | None:
    """Store (or refresh, while pending) the suggestion for a complaint; None when no router is stored."""
    loaded = load(name)
    if loaded is None:
        return None
    router, model = loaded
    ranked = model.ranked(prepare([case.summary]), k=3)[0]
    label, p = ranked[0]
    existing = RoutingSuggestion.objects.filter(case=case).first()
    if existing is not None and existing.decision != RoutingSuggestion.Decision.PENDING:
        return existing
    suggestion, _ = RoutingSuggestion.objects.update_or_create(
        case=case,
        defaults={
            "label": label,
            "confidence": p,
            "alternatives": [{"label": lab, "p": q} for lab, q in ranked[1:]],
            "suggested_unit": unit_for(case.region, label),
            "router": router,
        },
    )
    return suggestion


def suggest_after_open(case_id: int) -> None:
    """on_commit hook of a complaint opened without a unit: never fails the complaint (logs instead)."""
    from haochaping.cases.models import Case

    try:
        case = Case.objects.select_related("region").get(pk=case_id)
        suggest_for_case(case)
    except Exception:  # noqa: BLE001 - routing is a convenience; the complaint stands without it
        log.exception("routing suggestion failed for case %s", case_id)


def may_decide(user, case) -> bool:
    """Who may confirm or correct: whoever may transfer the case (its handler or a unit/agency administrator)."""
    from haochaping.cases import access

    return bool(access.actor_roles(user, case) & {"unit_admin", "handler"})


def categories() -> list[str]:
    from haochaping.directory.models import Organisation

    return known_categories(c for c in Organisation.objects.exclude(category="").values_list("category", flat=True))


def decide(case, *, label: str, unit, actor) -> RoutingSuggestion:
    """Confirm (label == suggestion) or correct the suggestion of a case: transfer it to ``unit`` through the
    cases module's transfer action and keep the masked text with its label as a RoutingExample, together."""
    from haochaping.cases.services import case_act
    from haochaping.directory.models import Organisation

    label = str(label or "").strip()
    if not label or label not in categories():
        raise ValidationFailed("请选择有效的部门类别", field="label")
    try:
        unit_id = int(getattr(unit, "pk", unit))
    except (TypeError, ValueError):
        raise ValidationFailed("请选择转办单位", field="unit") from None
    target = Organisation.objects.filter(pk=unit_id, is_active=True).first()
    if target is None:
        raise ValidationFailed("转办单位不存在或已停用", field="unit")
    if not may_decide(actor, case):
        raise PermissionDenied("您无权转办该工单")
    with transaction.atomic():
        suggestion = RoutingSuggestion.objects.select_for_update().filter(case_id=case.pk).first()
        if suggestion is None:
            raise NotFound("该工单没有分派建议", field="case")
        if suggestion.decision != RoutingSuggestion.Decision.PENDING:
            raise Conflict("分派建议已处理", field="case")
        confirmed = label == suggestion.label
        origin = RoutingExample.Origin.CONFIRMED if confirmed else RoutingExample.Origin.CORRECTED
        if target.pk != case.unit_id:
            verb = "确认分派建议" if confirmed else "更正分派建议"
            case_act(
                case_id=case.pk, action="transfer", user=actor,
                data={"to_unit": target.pk, "reason": f"{verb}：{label}"},
            )  # fmt: skip
        RoutingExample.objects.create(
            text=insight_text.pipeline().mask(case.summary), label=label, origin=origin, case_id=case.pk,
            created_by=actor,
        )  # fmt: skip
        suggestion.decision = (
            RoutingSuggestion.Decision.CONFIRMED if confirmed else RoutingSuggestion.Decision.CORRECTED
        )
        suggestion.final_label, suggestion.decided_by, suggestion.decided_at = label, actor, timezone.now()
        suggestion.save(update_fields=["decision", "final_label", "decided_by", "decided_at"])
    return suggestion


def box_for(case, user) -> dict[str, Any] | None:
    """The case page's suggestion box: the pending suggestion and the correction form's choices, or None."""
    from haochaping.directory.models import Organisation

    suggestion = (
        RoutingSuggestion.objects.select_related("suggested_unit")
        .filter(case_id=case.pk, decision=RoutingSuggestion.Decision.PENDING)
        .first()
    )
    if suggestion is None:
        return None
    units = Organisation.objects.filter(region_id=case.region_id, is_active=True).order_by("name")
    return {
        "suggestion": suggestion,
        "percent": round(suggestion.confidence * 100),
        "uncertain": suggestion.confidence < CONFIDENT,
        "may_decide": may_decide(user, case),
        "categories": categories(),
        "units": list(units.values_list("pk", "name")),
    }


def live_accuracy(suggestions) -> dict[str, Any]:
    """Confirmed ÷ decided over the given suggestions."""
    counts = Counter(suggestions.values_list("decision", flat=True))
    decided = counts[RoutingSuggestion.Decision.CONFIRMED] + counts[RoutingSuggestion.Decision.CORRECTED]
    return {
        "pending": counts[RoutingSuggestion.Decision.PENDING],
        "confirmed": counts[RoutingSuggestion.Decision.CONFIRMED],
        "corrected": counts[RoutingSuggestion.Decision.CORRECTED],
        "decided": decided,
        "accuracy": round(counts[RoutingSuggestion.Decision.CONFIRMED] / decided, 4) if decided else None,
    }


# --- command line -----------------------------------------------------------------------------------------------


def cli_train(path: str, *, text_column: str, label_column: str, name: str = DEFAULT, out) -> Router:
    header, rows = read_csv(path)
    require_column(header, text_column, "text_column")
    require_column(header, label_column, "label_column")
    rows = [r for r in rows if (r.get(text_column) or "").strip() and (r.get(label_column) or "").strip()]
    if len(rows) < MIN_EXAMPLES:
        raise ValidationFailed(f"有效行数不足{MIN_EXAMPLES}行（文字和标注都不能为空）", field="label_column")
    model, report = fit([r[text_column] for r in rows], [r[label_column] for r in rows])
    router = store(name, model, report, source=os.path.basename(path))
    out.write(f"router: {name}")
    out.write(f"examples: {report['examples']}, labels: {len(report['labels'])}, held out: {report['heldout']}")
    if report.get("accuracy") is not None:
        conf = report["confident"]
        out.write(
            f"held-out accuracy: {report['accuracy']:.3f}, top-2: {report['top2']:.3f}, "
            f"macro-F1: {report['macro_f1']:.3f}; confidence >= {conf['threshold']}: coverage "
            f"{conf['coverage']:.3f}, accuracy {conf['accuracy'] or 0:.3f}"
        )
        out.write(f"{'label':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}")
        for label, m in report["per_label"].items():
            out.write(f"{label:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>7}")
    else:
        out.write("held-out accuracy: - (too few examples to hold any out)")
    return router


def cli_route(path: str, *, text_column: str, name: str = DEFAULT, out) -> int:
    loaded = load(name)
    if loaded is None:
        raise ValidationFailed(f"分派模型不存在：{name}（先用 insight train 训练）", field="name")
    header, rows = read_csv(path)
    require_column(header, text_column, "text_column")
    model = loaded[1]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*header, "predicted_label", "confidence"])
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        ranked = model.ranked(prepare([r.get(text_column) or "" for r in chunk]), k=1)
        for r, best in zip(chunk, ranked, strict=True):
            writer.writerow([*(r.get(h, "") for h in header), best[0][0], f"{best[0][1]:.4f}"])
    out.write(buf.getvalue().rstrip("\n"))
    return len(rows)

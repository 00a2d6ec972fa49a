"""Key rotation of personal data (`haochaping pii rotate`, docs/privacy.md).

Ciphertexts: PII_KEYS lists keys newest first; the first encrypts, all decrypt. After prepending a new key,
``rotate_ciphertexts`` re-encrypts every value not yet under the first key, in batches of one transaction each.
It is resumable by construction: a value already under the first key is skipped, so an interrupted run is
simply started again. The old key may be removed from PII_KEYS once a run reports nothing left and nothing
unreadable.

Look-up hashes: HMAC-SHA256 under PII_HASH_KEY of the normalised value. A hash cannot be converted to another
key, but every hash here sits next to the ciphertext of its value, so ``rehash`` recomputes it from the
decrypted value under the current PII_HASH_KEY (run it right after changing the hash key).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q

from haochaping.lib import protect

BATCH_SIZE = 1000

# model → ({ciphertext column: its look-up hash column or ""})
ENCRYPTED: dict[str, dict[str, str]] = {
    "ratings.Rating": {
        "rater_name_enc": "",
        "rater_phone_enc": "rater_phone_hash",
        "rater_cert_enc": "rater_cert_hash",
    },
    "ratings.ServiceCase": {
        "applicant_name_enc": "",
        "applicant_phone_enc": "applicant_phone_hash",
        "applicant_cert_enc": "applicant_cert_hash",
    },
    "cases.Case": {"contact_name_enc": "", "contact_phone_enc": "contact_phone_hash"},
    "messaging.SmsMessage": {"phone_enc": "phone_hash"},
}


@dataclass
class RotationReport:
    rows: int = 0  # rows examined
    rewritten: int = 0  # values re-encrypted or re-hashed (or that would be, in a dry run)
    unreadable: int = 0  # values no configured key decrypts: left as they are

    def add(self, other: RotationReport) -> None:
        self.rows += other.rows
        self.rewritten += other.rewritten
        self.unreadable += other.unreadable


def _current_key() -> Fernet:
    return Fernet(protect._fernet_key(settings.PII_KEYS[0]))


def _under_current_key(token: str, current: Fernet) -> bool:
    try:
        current.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _batches(model: type[models.Model], columns: list[str], also: list[str], batch_size: int):
    has_data = Q()
    for column in columns:
        has_data |= ~Q(**{column: ""})
    last = 0
    while True:
        rows = list(
            model._base_manager.filter(has_data, pk__gt=last).order_by("pk").values("pk", *columns, *also)[:batch_size]
        )
        if not rows:
            return
        yield rows
        last = rows[-1]["pk"]


def _rewrite(model, rows_changed: list[dict], columns: list[str]) -> None:
    with transaction.atomic():
        for changed in rows_changed:
            model._base_manager.filter(pk=changed["pk"]).update(**{c: changed[c] for c in columns if c in changed})


def rotate_ciphertexts(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE, rehash: bool = False
) -> dict[str, RotationReport]:
    """Re-encrypt under the first key of PII_KEYS (and, with ``rehash``, recompute the look-up hashes)."""
    current = _current_key()
    reports: dict[str, RotationReport] = {}
    for label, spec in ENCRYPTED.items():
        model = apps.get_model(label)
        enc_columns = list(spec)
        hash_columns = [h for h in spec.values() if h]
        report = RotationReport()
        for rows in _batches(model, enc_columns, hash_columns, batch_size):
            changed_rows = []
            for row in rows:
                report.rows += 1
                changed: dict = {}
                for enc, hash_column in spec.items():
                    token = row[enc]
                    if not token:
                        continue
                    value = protect.decrypt(token)
                    if not value:
                        report.unreadable += 1
                        continue
                    if not _under_current_key(token, current):
                        changed[enc] = protect.encrypt(value)
                    if rehash and hash_column:
                        digest = protect.lookup_hash(value)
                        if digest != row.get(hash_column):
                            changed[hash_column] = digest
                if changed:
                    report.rewritten += len(changed)
                    changed["pk"] = row["pk"]
                    changed_rows.append(changed)
            if changed_rows and not dry_run:
                _rewrite(model, changed_rows, enc_columns + hash_columns)
        reports[label] = report
    return reports


def needs_hash_columns() -> dict[str, list[str]]:
    """The hash columns per model (for documentation and tests)."""
    return {label: [h for h in spec.values() if h] for label, spec in ENCRYPTED.items()}

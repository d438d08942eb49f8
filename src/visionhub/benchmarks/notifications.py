"""The e-mail outbox: ``notify`` writes a row in the caller's transaction, the sender mails it.

Writing in the same transaction as the approval, rejection or claim means a notification
exists exactly when the event was committed; sending later (``visionhub notifications send``,
e.g. from cron) means a slow or failing mail server never slows or fails the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from visionhub.accounts.models import User
from visionhub.benchmarks.models import Notification

MAX_ATTEMPTS = 5
BATCH = 100


def notify(user: User | None, subject: str, body: str) -> Notification | None:
    """Queue an e-mail to ``user`` (nobody to tell for built-in resources: None)."""
    if user is None:
        return None
    return Notification.objects.create(user=user, subject=subject[:200], body=body)


def notify_admins(subject: str, body: str) -> int:
    """Queue an e-mail to every active administrator (a new submission waits for review);
    one multi-row insert. Returns how many were queued."""
    admins = User.objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True)
    rows = [Notification(user_id=pk, subject=subject[:200], body=body) for pk in admins]
    Notification.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    skipped: int


def send_pending_notifications(*, limit: int | None = None) -> SendReport:
    """Mail every pending notification through Django's mail backend (``EMAIL_BACKEND``).

    Each is tried up to ``MAX_ATTEMPTS`` times across runs; its last error is kept. Users
    without an e-mail address are skipped for good. Rows are locked with SKIP LOCKED on
    PostgreSQL, so several senders never mail the same notification twice.
    """
    sent = failed = skipped = 0
    after = 0  # each row is tried at most once per run
    while limit is None or sent + failed + skipped < limit:
        size = BATCH if limit is None else min(BATCH, limit - (sent + failed + skipped))
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user")
                .filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS, pk__gt=after)
                .order_by("id")[:size]
            )
            if not batch:
                break
            after = batch[-1].pk
            for note in batch:
                if not note.user.email:
                    Notification.objects.filter(pk=note.pk).update(
                        attempts=MAX_ATTEMPTS, error="the user has no e-mail address"
                    )
                    skipped += 1
                    continue
                try:
                    send_mail(
                        note.subject,
                        note.body,
                        settings.DEFAULT_FROM_EMAIL,
                        [note.user.email],
                        fail_silently=False,
                    )
                except Exception as exc:
                    Notification.objects.filter(pk=note.pk).update(
                        attempts=F("attempts") + 1, error=str(exc)[:2000]
                    )
                    failed += 1
                else:
                    Notification.objects.filter(pk=note.pk).update(
                        attempts=F("attempts") + 1, sent_at=timezone.now(), error=""
                    )
                    sent += 1
    return SendReport(sent=sent, failed=failed, skipped=skipped)

"""FAQ behaviour: answers are stored sanitised (the same rules as email HTML)."""

from __future__ import annotations

from typing import Any

from crm_apps.mail import html as mail_html


def faq_answer_clean(faq: Any) -> None:
    """The answer is kept as sanitised HTML, whatever path wrote it (form, API, import, a ticket)."""
    faq.answer = mail_html.sanitize(faq.answer or "")

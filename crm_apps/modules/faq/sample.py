"""Demo FAQ entries (`manage.py seed_demo`)."""

from __future__ import annotations

from crm_apps.engine.sample_data import SampleContext


def faq_sample(ctx: SampleContext) -> None:
    for question, answer, category in [
        ("How do I reset my password?", "<p>Use <em>Forgot password</em> on the sign-in page.</p>", "General"),
        ("Where do I find my invoices?", "<p>Under <strong>Billing › Invoices</strong>.</p>", "Billing"),
        ("The printer shows error E42", "<p>Open the rear cover and remove the jammed sheet.</p>", "Troubleshooting"),
    ]:
        ctx.make("faq", {"question": question, "answer": answer, "category": category, "status": "Published"})

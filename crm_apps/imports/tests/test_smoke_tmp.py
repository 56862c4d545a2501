import time
import pytest
from django_tenants.utils import tenant_context
from crm_apps.imports import services
from crm_apps.imports.models import ImportJob

pytestmark = pytest.mark.django_db


def test_smoke(tenant_a, admin_of, media_root):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        lines = ["First name,Last name,Email,Phone,Company"]
        for i in range(2000):
            lines.append(f"Ann{i},Smith{i},ann{i}@example.com,+1 555 01{i:04d},Org {i % 50}")
        job = services.import_upload(actor=admin, module="contacts", file_name="c.csv", content="\n".join(lines).encode())
        print(job.mapping, job.encoding, job.delimiter)
        services.import_configure(actor=admin, job=job, columns=job.mapping, dedupe_fields=["email"], dedupe_mode="overwrite", options={"create_references": True})
        job.status = ImportJob.Status.QUEUED; job.save()
        t = time.monotonic()
        import cProfile, pstats
        pr = cProfile.Profile(); pr.enable()
        job = services.import_execute(job_id=job.pk, dry_run=False)
        pr.disable(); pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
        print("run", time.monotonic() - t, job.status, job.message, job.report.get("errors", [])[:3], job.created, job.references_created)
        job.status = ImportJob.Status.UPLOADED; job.save()
        job2 = services.import_upload(actor=admin, module="contacts", file_name="c.csv", content="\n".join(lines).replace("Smith", "Jones").encode())
        services.import_configure(actor=admin, job=job2, columns=job2.mapping, dedupe_fields=["email"], dedupe_mode="overwrite", options={"create_references": True})
        job2.status = ImportJob.Status.QUEUED; job2.save()
        t = time.monotonic()
        job2 = services.import_execute(job_id=job2.pk, dry_run=False)
        print("run2", time.monotonic() - t, job2.status, job2.message, job2.updated, job2.report.get("errors", [])[:3])
        job2.status = ImportJob.Status.UNDOING; job2.save()
        t = time.monotonic()
        job2 = services.import_undo_execute(job_id=job2.pk)
        print("undo", time.monotonic() - t, job2.status, job2.message)
        from crm_apps.modules.contacts.models import Contact
        print(Contact.objects.filter(last_name__startswith="Jones").count(), Contact.objects.filter(last_name__startswith="Smith").count())

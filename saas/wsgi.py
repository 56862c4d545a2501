import gc
import os

from django.core.wsgi import get_wsgi_application

from saas import collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
application = get_wsgi_application()

# Everything loaded so far (code, settings, URL tables, the module registry) lives as long as the worker:
# move it out of the garbage collector's generations, so a full collection during a request scans only
# what requests create (full collections of the whole heap made a 50-line invoice's p95 ~4x its median;
# docs/deployment.md, "Worker processes"). What the first requests build (templates, catalogues, caches)
# is frozen the same way after the worker's 100th, 1,000th and 10,000th request (`saas.collector`).
gc.freeze()
collector.freeze_after()

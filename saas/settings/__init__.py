"""Settings, split by topic. Each module reads configuration only through ``saas.env``."""

from saas.settings.api import *
from saas.settings.base import *
from saas.settings.billing import *
from saas.settings.cache import *
from saas.settings.celery import *
from saas.settings.database import *
from saas.settings.email import *
from saas.settings.i18n import *
from saas.settings.mail import *
from saas.settings.marketplace import *
from saas.settings.observability import *
from saas.settings.product import *
from saas.settings.security import *
from saas.settings.tenancy import *

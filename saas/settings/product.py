"""The product's name and logo (operators may rebrand through the environment)."""

from saas import env

PRODUCT_NAME = env.PRODUCT_NAME
PRODUCT_LOGO_URL = env.PRODUCT_LOGO_URL

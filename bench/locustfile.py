"""The user mix of `make bench-load` (bench/load.py writes the plan this file reads: LOAD_PLAN=<json>).

Each simulated user works in one workspace picked at random from the plan (200 by default), signed in
with that workspace's session cookie for pages and its API token for the API, and does what people do in
a CRM, weighted: browse lists, open records, search, open the edit form, edit through the API, list and
create through the API, look at the home page. Requests are grouped by page type (`name=`), so locust's
percentiles are per page type, not per URL."""

from __future__ import annotations

import json
import os
import random
import uuid
from typing import Any

from locust import HttpUser, between, task

with open(os.environ["LOAD_PLAN"]) as handle:
    PLAN: list[dict[str, Any]] = json.load(handle)["tenants"]

RNG = random.Random()  # noqa: S311 (which page to load next, not a secret)
MIN_WAIT_S, MAX_WAIT_S = 0.5, 2.0  # a user's pause between requests (below bench/load.py's KEEP_ALIVE_S)
WORDS = ("Stone", "Miller", "Acme", "North", "Ivanova", "Smith", "Baker", "Garcia")


class CrmUser(HttpUser):
    wait_time = between(MIN_WAIT_S, MAX_WAIT_S)

    def on_start(self) -> None:
        self.tenant = RNG.choice(PLAN)
        self.client.headers.update({"Host": self.tenant["host"]})
        self.client.cookies.set("sessionid", self.tenant["session"])
        self.api = {"Authorization": f"Token {self.tenant['token']}", "Host": self.tenant["host"]}

    def _record(self) -> str:
        return str(RNG.choice(self.tenant["contacts"]))

    @task(4)
    def browse_list(self) -> None:
        module = RNG.choice(("contacts", "organizations", "deals"))
        self.client.get(f"/m/{module}/", name="page: list")

    @task(4)
    def open_record(self) -> None:
        self.client.get(f"/m/contacts/{self._record()}/", name="page: record")

    @task(2)
    def search(self) -> None:
        self.client.get(f"/m/contacts/?q={RNG.choice(WORDS)}", name="page: search")

    @task(1)
    def edit_form(self) -> None:
        self.client.get(f"/m/contacts/{self._record()}/edit/", name="page: edit form")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="page: home")

    @task(3)
    def api_list(self) -> None:
        self.client.get("/api/v1/contacts/?limit=25", headers=self.api, name="api: list")

    @task(2)
    def api_record(self) -> None:
        self.client.get(f"/api/v1/contacts/{self._record()}/", headers=self.api, name="api: record")

    @task(2)
    def api_edit(self) -> None:
        self.client.patch(
            f"/api/v1/contacts/{self._record()}/",
            json={"title": RNG.choice(("Buyer", "CTO", "Owner", "Analyst"))},
            headers=self.api,
            name="api: edit",
        )

    @task(1)
    def api_create(self) -> None:
        self.client.post(
            "/api/v1/contacts/",
            json={"first_name": "Load", "last_name": f"Test {uuid.uuid4().hex[:6]}"},
            headers=self.api,
            name="api: create",
        )

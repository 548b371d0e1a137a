"""CRM metadata handlers: modules, fields, layouts, users and the organization."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._core import zoho_json
from .._editions import edition_named
from .._errors import ApiError
from ._metadata import ORG_ID, ORG_ZGID, USER_ID, USER_ZUID
from ._params import Handlers, choice_param, invalid_module, module_param, version_of


class MetaHandlers(Handlers):
    """``/settings/modules``, ``/settings/fields``, ``/settings/layouts``, ``/users``, ``/org``."""

    async def settings_modules(self, request: Request) -> Response:
        """Modules metadata: a summary of every module."""
        return zoho_json(self.store.schema.modules_answer(version_of(request)))

    async def settings_module(self, request: Request) -> Response:
        """One module's metadata, ``/settings/modules/{api_name}``."""
        mod = self.store.schema.find(request.path_params["api_name"])
        if mod is None:
            raise invalid_module(resource_path_index=2)
        return zoho_json(self.store.schema.module_answer(mod, version_of(request)))

    async def settings_fields(self, request: Request) -> Response:
        """Fields metadata of ``?module=``; ``type``: ``used`` (default), ``all``, ``unused``."""
        mod = module_param(self.store, request)
        kind = choice_param(request, "type", "used", ("used", "all", "unused"))
        if kind == "unused":
            # Every field of the emulated org is in its one layout, so none is unused.
            return zoho_json({"fields": []})
        return zoho_json(self.store.schema.fields_answer(mod, version_of(request)))

    async def settings_layouts(self, request: Request) -> Response:
        """Layouts metadata of ``?module=``: one ``Standard`` layout holding every field."""
        mod = module_param(self.store, request)
        return zoho_json(self.store.schema.layouts_answer(mod, version_of(request)))

    async def settings_layout(self, request: Request) -> Response:
        """One layout, ``/settings/layouts/{id}?module=``."""
        mod = module_param(self.store, request)
        answer = self.store.schema.layouts_answer(mod, version_of(request))
        if request.path_params["layout_id"] != answer["layouts"][0]["id"]:
            raise ApiError(
                "INVALID_DATA",
                "the id given seems to be invalid",
                details={"resource_path_index": 2},
            )
        return zoho_json(answer)

    async def users(self, request: Request) -> Response:
        """Users; ``type=CurrentUser`` gives the grant's user."""
        cfg = self.emu.config
        kind = request.query_params.get("type", "AllUsers")
        first, _, last = cfg.user_name.partition(" ")
        me = {
            "id": USER_ID,
            "zuid": USER_ZUID,
            "email": cfg.user_email,
            "full_name": cfg.user_name,
            "first_name": first,
            "last_name": last or first,
            "status": "active",
            "confirm": True,
            "role": {"name": "CEO", "id": f"{USER_ID[:-4]}0011"},
            "profile": {"name": "Administrator", "id": f"{USER_ID[:-4]}0026"},
            "time_zone": "Etc/UTC",
            "locale": "en_US",
        }
        if kind == "CurrentUser":
            return zoho_json({"users": [me]})
        sales = self.store.sales_user()
        other = {
            **me,
            "id": sales["id"],
            "zuid": self.store.zuid_of(sales["id"]),
            "email": sales["email"],
            "full_name": sales["name"],
            "first_name": sales["name"].split()[0],
            "last_name": sales["name"].split()[-1],
            "role": {"name": "Sales", "id": f"{USER_ID[:-4]}0012"},
            "profile": {"name": "Standard", "id": f"{USER_ID[:-4]}0027"},
        }
        users = [me, other]
        return zoho_json(
            {
                "users": users,
                "info": {"per_page": 200, "count": len(users), "page": 1, "more_records": False},
            }
        )

    async def org(self, request: Request) -> Response:
        """The organization; its licence is the emulator's edition (whose limits apply)."""
        cfg = self.emu.config
        edition = edition_named(cfg.edition)
        return zoho_json(
            {
                "org": [
                    {
                        "id": ORG_ID,
                        "zgid": ORG_ZGID,
                        "company_name": "Emulated Org",
                        "primary_email": cfg.user_email,
                        "primary_zuid": USER_ZUID,
                        "time_zone": "Etc/UTC",
                        "iso_code": "USD",
                        "currency": "US Dollar - USD",
                        "currency_symbol": "$",
                        "country_code": "US",
                        "domain_name": f"org{ORG_ZGID}",
                        "type": "production",
                        "mc_status": False,
                        "license_details": {
                            "paid": edition.paid,
                            "paid_type": edition.name,
                            "paid_expiry": None,
                            "trial_type": None,
                            "trial_expiry": None,
                            "users_license_purchased": cfg.licensed_users,
                        },
                    }
                ]
            }
        )

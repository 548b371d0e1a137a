"""CRM metadata handlers: modules, fields, users and the organization."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._core import zoho_json
from .._errors import ApiError
from ._metadata import ORG_ID, ORG_ZGID, USER_ID, USER_ZUID, fields_json, find_module, modules_json
from ._params import Handlers, missing_param


class MetaHandlers(Handlers):
    """``/settings/modules``, ``/settings/fields``, ``/users`` and ``/org``."""

    async def settings_modules(self, request: Request) -> Response:
        """Modules metadata."""
        return zoho_json(modules_json())

    async def settings_fields(self, request: Request) -> Response:
        """Fields metadata of ``?module=``."""
        name = request.query_params.get("module")
        if not name:
            raise missing_param("module")
        mod = find_module(name)
        if mod is None:
            raise ApiError(
                "INVALID_MODULE",
                "the module name given seems to be invalid",
                details={"param_name": "module"},
            )
        return zoho_json(fields_json(mod.api_name))

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
        """The organization."""
        cfg = self.emu.config
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
                            "paid": True,
                            "paid_type": "enterprise",
                            "users_license_purchased": 10,
                        },
                    }
                ]
            }
        )

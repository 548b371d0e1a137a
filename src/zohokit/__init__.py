"""zohokit: Zoho CRM and Zoho Calendar for many tenants."""

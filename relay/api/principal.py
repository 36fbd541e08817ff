class ApiPrincipal:
    """What `request.user` is on the API: the tenant behind an API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False

    def __init__(self, api_key):
        self.api_key = api_key
        self.tenant = api_key.tenant

    def __str__(self):
        return f"{self.tenant.name} (rk_{self.api_key.prefix})"

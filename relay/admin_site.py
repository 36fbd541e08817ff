"""Relay's admin site: Django's, with the operators' dashboard at admin/dashboard/ (linked
at the top of the index). INSTALLED_APPS names `relay.apps.RelayAdminConfig`, which makes
this the site every admin.py registers with."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from relay import dashboard, work


class RelayAdminSite(admin.AdminSite):
    site_header = "Relay operations"
    site_title = "Relay admin"
    index_template = "admin/relay/index.html"

    def get_urls(self):
        return [path("dashboard/", self.admin_view(self.dashboard_view), name="dashboard"), *super().get_urls()]

    def dashboard_view(self, request):
        context = {
            **self.each_context(request),
            "title": "Operations dashboard",
            # kinds with admin pages to link to
            "linked": {kind for kind, model in work.KINDS.items() if self.is_registered(model)},
            **dashboard.snapshot(),
        }
        return TemplateResponse(request, "admin/relay/dashboard.html", context)

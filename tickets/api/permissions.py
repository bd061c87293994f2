from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tickets.roles import ADMIN, RESPONDER, VIEWER, has_role


class IsViewer(BasePermission):
    """Reads need the viewer role (or more); writes need what the view asks for."""

    message = "You need the viewer role (or more) to use the API."

    def has_permission(self, request, view) -> bool:
        if not has_role(request.user, VIEWER):
            return False
        if request.method in SAFE_METHODS:
            return True
        needed = getattr(view, "write_role", ADMIN)
        # DRF reads the message from this instance, made for this request.
        if hasattr(view, request.method.lower()):
            self.message = f"You need the {needed} role to change this."
        else:  # admins get 405 for it; nobody can do it
            self.message = f"This endpoint is read-only: {request.method} is not allowed."
        return has_role(request.user, needed)


class IsResponder(BasePermission):
    message = "You need the responder role to act on tickets."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, RESPONDER)

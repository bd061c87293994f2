from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tickets.roles import ADMIN, RESPONDER, VIEWER, has_role


class IsViewer(BasePermission):
    """Reads need the viewer role (or more); writes need what the view asks for. A method the
    view does not have is let through to DRF's 405 (with `Allow`) for every viewer: no role
    could use it, so a 403 would tell a client that a higher one might."""

    message = "You need the viewer role (or more) to use the API."

    def has_permission(self, request, view) -> bool:
        if not has_role(request.user, VIEWER):
            return False
        if request.method in SAFE_METHODS or not hasattr(view, request.method.lower()):
            return True
        needed = getattr(view, "write_role", ADMIN)
        # DRF reads the message from this instance, made for this request.
        self.message = f"You need the {needed} role to change this."
        return has_role(request.user, needed)


class IsResponder(BasePermission):
    message = "You need the responder role to act on tickets."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, RESPONDER)

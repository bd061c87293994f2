"""Dashboard pages, included at the site root."""

from django.urls import path

from tickets.dashboard import views

urlpatterns = [
    path("", views.board, name="dashboard"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register, name="dashboard-register"),
    path("tickets/<str:ticket_id>/", views.ticket_detail, name="dashboard-ticket"),
    path("tickets/<str:ticket_id>/action/", views.ticket_action, name="dashboard-ticket-action"),
    path("charts/", views.charts, name="dashboard-charts"),
]

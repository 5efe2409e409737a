from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/<int:pk>/", views.audit_event, name="audit_event"),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/deactivate/", views.user_deactivate_view, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", views.user_reactivate_view, name="user_reactivate"),
    path(
        "users/<int:pk>/reset-2fa/", views.user_two_factor_reset_view, name="user_two_factor_reset"
    ),
]

"""The log-analysis jobs in Django admin, as a member of staff who is not a superuser sees them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from analysis.models import LogAnalysisJob

pytestmark = pytest.mark.django_db


def test_a_jobs_owner_is_its_username_not_a_link_to_a_user_page_staff_may_not_open(
    migration_data,
):
    owner = User.objects.create_user("owner-<b>")
    job = LogAnalysisJob.objects.create(owner=owner, source=LogAnalysisJob.Source.UPLOAD)
    staff = User.objects.create_user("staff-admin", is_staff=True)
    staff.groups.add(Group.objects.get(name="admin"))
    client = Client()
    client.force_login(staff)
    assert client.get(f"/admin/auth/user/{owner.pk}/change/").status_code == 403

    answer = client.get(f"/admin/analysis/loganalysisjob/{job.pk}/change/")

    assert answer.status_code == 200
    html = answer.content.decode()
    assert "owner-&lt;b&gt;" in html
    assert "/admin/auth/user/" not in html
    assert 'name="owner"' not in html

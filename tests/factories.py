"""Factories for test data: each builds rows through the same models the app uses."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from generations.models import Membership, Project, PromptVersion, Role, Shot, Take


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@studio.test")
    email = factory.LazyAttribute(lambda u: u.username)
    password = factory.django.Password("pw")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    budget_usd = Decimal("1000.00")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.LEAD


class ShotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shot

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"shot-{n}")


class PromptVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromptVersion

    shot = factory.SubFactory(ShotFactory)
    number = factory.Sequence(lambda n: n + 1)
    text = "a street food vendor, slow dolly-in, golden hour"


class TakeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Take

    prompt_version = factory.SubFactory(PromptVersionFactory)
    shot = factory.LazyAttribute(lambda t: t.prompt_version.shot)
    project = factory.LazyAttribute(lambda t: t.prompt_version.shot.project)
    pass_number = factory.LazyAttribute(lambda t: t.prompt_version.number)
    model = "sora-2"
    external_id = factory.Sequence(lambda n: f"gen-{n:08d}")
    duration_s = Decimal("8.000")
    fps = Decimal("24.000")
    width = 1280
    height = 720
    codec = "h264"
    cost_usd = Decimal("0.8000")
    cost_source = "reported"
    created_at = factory.LazyFunction(
        lambda: timezone.now().replace(microsecond=0) - datetime.timedelta(days=1)
    )

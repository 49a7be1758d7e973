"""Forms validate input only; services do the writing."""

import json

from django import forms
from django.conf import settings
from django.utils import timezone

from . import limits
from .drawing import DrawingError, drawing_clean
from .models import FailureTag, Project, Role, Verdict, WebhookEvent
from .services.reviews import NoteInput


class LimitedText(forms.CharField):
    """A name (one line) or a text (may span lines) checked by generations.limits, the rule the
    importer and the API apply too: a line break in a shot name would add events to an EDL, and
    a control character or lone surrogate makes PostgreSQL or an XML reader refuse the row."""

    def __init__(self, *, max_length: int, single_line: bool = True, **kwargs):
        self.single_line = single_line
        if not single_line:
            kwargs.setdefault("widget", forms.Textarea)
        super().__init__(max_length=max_length, **kwargs)

    def validate(self, value):
        super().validate(value)
        if value in self.empty_values:
            return
        problem = limits.text_problem(
            value, max_length=self.max_length, single_line=self.single_line
        )
        if problem:
            raise forms.ValidationError(f"This {'name' if self.single_line else 'text'} {problem}.")


class ProjectForm(forms.Form):
    name = LimitedText(max_length=limits.PROJECT_NAME_MAX)
    brief = LimitedText(max_length=limits.SHOT_DESCRIPTION_MAX, single_line=False, required=False)


class ShotForm(forms.Form):
    name = LimitedText(max_length=limits.SHOT_NAME_MAX)
    description = LimitedText(
        max_length=limits.SHOT_DESCRIPTION_MAX, single_line=False, required=False
    )
    target_duration_s = forms.DecimalField(
        required=False, min_value=0, max_digits=7, decimal_places=2, label="Target duration (s)"
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if self.project.shots.filter(name=name).exists():
            raise forms.ValidationError("This project already has a shot with that name.")
        return name


class JSONDictField(forms.CharField):
    widget = forms.Textarea

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return {}
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        if not isinstance(data, dict):
            raise forms.ValidationError('Parameters must be a JSON object, like {"seed": 42}.')
        problem = limits.parameters_problem(data)
        if problem:
            raise forms.ValidationError(f"Parameters {problem}.")
        return data

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2, sort_keys=True)
        return value


class PromptVersionForm(forms.Form):
    text = LimitedText(max_length=limits.PROMPT_MAX, single_line=False, label="Prompt")
    negative_prompt = LimitedText(
        max_length=limits.NEGATIVE_PROMPT_MAX, single_line=False, required=False
    )
    parameters = JSONDictField(
        required=False,
        help_text="Camera move, duration, aspect ratio, seed, model settings, as a JSON object.",
    )
    change_note = LimitedText(max_length=limits.CHANGE_NOTE_MAX, required=False)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "video/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        if not files:
            raise forms.ValidationError("Choose at least one video file.")
        if len(files) > settings.DAILIES_MAX_FILES_PER_UPLOAD:
            raise forms.ValidationError(
                f"At most {settings.DAILIES_MAX_FILES_PER_UPLOAD} files per upload."
            )
        return files


class TakeUploadForm(forms.Form):
    files = MultipleFileField(label="Video files")
    model = LimitedText(max_length=limits.MODEL_NAME_MAX, help_text="e.g. sora-2, veo-3, kling-2")
    pass_number = forms.IntegerField(
        required=False, min_value=1, label="Pass", help_text="Defaults to the version number."
    )
    cost_usd = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=4,
        label="Reported cost per file (USD)",
        help_text="Leave empty to estimate from the model price × duration.",
    )
    seed = forms.IntegerField(required=False)

    def clean_model(self):
        return self.cleaned_data["model"].strip().lower()


class FirstErrorMixin:
    def first_error(self) -> str:
        """One sentence for a message or an inline error: the form's own first, then a field's."""
        for error in self.non_field_errors():
            return error
        for name, errors in self.errors.items():
            label = self.fields[name].label or name.replace("_", " ").capitalize()
            return f"{label}: {errors[0]}"
        return ""


class ReviewForm(FirstErrorMixin, forms.Form):
    verdict = forms.ChoiceField(
        choices=[(Verdict.ACCEPT, "Accept"), (Verdict.REJECT, "Reject")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose accept or reject."},
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=FailureTag.objects.all(), required=False, to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    comment = LimitedText(
        max_length=limits.COMMENT_MAX,
        single_line=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    # One optional time-coded note with the verdict; more via the note form.
    note_seconds = forms.DecimalField(required=False, min_value=0, decimal_places=3)
    note_text = LimitedText(required=False, max_length=limits.NOTE_TEXT_MAX, single_line=False)
    note_tag = forms.SlugField(required=False)
    # The current review id the reviewer saw: a stale form (someone judged meanwhile) is refused
    # instead of silently overwriting their verdict.
    seen_review = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("note_text") and data.get("note_seconds") is None:
            self.add_error("note_seconds", "Give the time of the note.")
        return data

    def notes(self) -> list[NoteInput]:
        """The note given with the verdict, if any, as review_record's input."""
        data = self.cleaned_data
        if not data.get("note_text"):
            return []
        return [
            NoteInput(
                seconds=float(data["note_seconds"]),
                text=data["note_text"],
                tag_slug=data.get("note_tag") or "",
            )
        ]


class NoteForm(FirstErrorMixin, forms.Form):
    seconds = forms.DecimalField(min_value=0, decimal_places=3, max_digits=9)
    text = LimitedText(max_length=limits.NOTE_TEXT_MAX, single_line=False)
    tag = forms.SlugField(required=False)
    # Strokes drawn on the frame, as JSON (generations.drawing); empty: none.
    drawing = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_drawing(self):
        try:
            return drawing_clean(self.cleaned_data["drawing"])
        except DrawingError as exc:
            raise forms.ValidationError(str(exc)) from None

    def note_fields(self) -> dict:
        """The validated note as note_add's keyword arguments."""
        data = self.cleaned_data
        return {
            "seconds": float(data["seconds"]),
            "text": data["text"],
            "tag_slug": data["tag"],
            "drawing": data["drawing"],
        }


class MemberAddForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices)
    is_owner = forms.BooleanField(required=False, label="Owner")


class MemberUpdateForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_owner = forms.BooleanField(required=False)


class BudgetForm(forms.Form):
    budget_usd = forms.DecimalField(
        required=False, min_value=0, max_digits=12, decimal_places=2, label="Budget (USD)"
    )
    target_accepted_takes = forms.IntegerField(required=False, min_value=1)
    target_accepted_seconds = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2
    )
    deadline = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    generation_approval_usd = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        label="Approval above (USD)",
        help_text="A generation batch estimated above this waits for a producer.",
    )
    generation_daily_cap_usd = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        label="Daily generation cap (USD)",
        help_text="No new generation once a UTC day's batches reach it.",
    )

    def __init__(self, *args, current_deadline=None, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        # A late project keeps its (past) deadline when only the budget changes.
        self.current_deadline = current_deadline
        self.today = today or timezone.localdate()

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if deadline and deadline < self.today and deadline != self.current_deadline:
            raise forms.ValidationError(
                f"{deadline} has passed: a deadline is today ({self.today}) or later."
            )
        return deadline

    def clean(self):
        data = super().clean()
        if data.get("target_accepted_takes") and data.get("target_accepted_seconds"):
            raise forms.ValidationError(
                "Set one target, accepted takes or accepted seconds, not both: the forecast "
                "and the deadline status follow one target."
            )
        return data


class ModelPriceForm(forms.Form):
    model = LimitedText(max_length=limits.MODEL_NAME_MAX)
    usd_per_second = forms.DecimalField(min_value=0, max_digits=10, decimal_places=4)
    valid_from = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: from now. Past takes keep the price they were estimated with.",
    )

    def clean_model(self):
        return self.cleaned_data["model"].strip().lower()


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    read_only = forms.BooleanField(required=False, label="Read-only")
    projects = forms.ModelMultipleChoiceField(
        queryset=Project.objects.none(),
        required=False,
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: every project you are a member of.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["projects"].queryset = Project.objects.filter(memberships__user=user).order_by(
            "name"
        )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        problem = limits.text_problem(name, max_length=100)
        if problem:
            raise forms.ValidationError(f"The name {problem}.")
        return name


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(max_length=1000, label="URL", help_text="http(s), a public address.")
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, label="Events"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


ASPECTS = [("16:9", "16:9 landscape"), ("9:16", "9:16 portrait"), ("1:1", "1:1 square")]


class GenerationForm(forms.Form):
    """A batch of takes from a provider. Only shapes are checked here; the model's limits, the
    price and the budget are the service's (services/generation)."""

    model = forms.ChoiceField(label="Provider and model")
    count = forms.IntegerField(min_value=1, max_value=24, initial=4, label="Takes")
    duration_s = forms.IntegerField(min_value=1, max_value=60, initial=5, label="Duration (s)")
    aspect = forms.ChoiceField(choices=ASPECTS, initial="16:9")
    seed_mode = forms.ChoiceField(
        choices=[("random", "Random seeds"), ("fixed", "Fixed seeds")],
        initial="random",
        widget=forms.RadioSelect,
        label="Seeds",
    )
    seeds = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Fixed: one seed per take, separated by commas or spaces.",
    )
    negative_prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    parameters = JSONDictField(
        required=False,
        label="Parameter overrides",
        help_text='JSON, passed to the model as given, e.g. {"cfg_scale": 0.6}.',
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    new_version = forms.BooleanField(
        required=False, label="Start a new version (vN+1) with these parameters"
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = choices

    def clean_seeds(self) -> list[int]:
        raw = self.cleaned_data["seeds"].replace(",", " ").split()
        try:
            return [int(s) for s in raw]
        except ValueError:
            raise forms.ValidationError("Seeds are whole numbers.") from None

    def clean(self):
        data = super().clean()
        if data.get("seed_mode") == "fixed" and not data.get("seeds"):
            self.add_error("seeds", "Give the seeds, or choose random seeds.")
        return data

    def provider_model(self) -> tuple[str, str]:
        provider, _, model = self.cleaned_data["model"].partition("|")
        return provider, model


class PromptLibraryUploadForm(forms.Form):
    library = forms.FileField(label="ZIP file")

    def clean_library(self):
        from .prompt_files import MAX_ZIP_BYTES

        upload = self.cleaned_data["library"]
        if upload.size > MAX_ZIP_BYTES:
            raise forms.ValidationError(
                f"The ZIP is {upload.size / 1_048_576:.1f} MB, over the "
                f"{MAX_ZIP_BYTES // 1_048_576} MB cap."
            )
        head = upload.read(4)
        upload.seek(0)
        if head not in (b"PK\x03\x04", b"PK\x05\x06"):  # sniffed, not trusted by name
            raise forms.ValidationError("That is not a ZIP file.")
        return upload


class ManifestImportForm(forms.Form):
    """The file only: size, content and lines are checked by the service."""

    file = forms.FileField(label="Manifest (.jsonl)")

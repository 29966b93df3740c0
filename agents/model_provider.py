"""What stops a model provider's configuration from working, found before anything starts.

Model ids differ per provider (docs/models.md): the Anthropic API's are `claude-sonnet-4-6`;
Amazon Bedrock's carry the `anthropic.` vendor prefix, with a geography for a cross-region
inference profile (`us.anthropic.claude-haiku-4-5-20251001-v1:0`) or as an ARN; Google Vertex
AI's are `claude-sonnet-4-6` or, for older models, `claude-haiku-4-5@20251001`. An id that is
clearly another provider's is refused here; any other id is the provider's to judge.
"""

from __future__ import annotations

import re

from core.settings import Settings

AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
"""An AWS region name: us-east-1, eu-central-1, us-gov-west-1, ap-southeast-2."""
VERTEX_REGION = re.compile(r"global|us|eu|[a-z]+-[a-z]+[0-9]+")
"""A Vertex AI location: global, the multi-regions us and eu, or us-east5, europe-west1."""
GCP_PROJECT = re.compile(r"([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
"""A Google Cloud project id (6 to 30 lowercase letters, digits, hyphens; a domain-scoped
one as example.com:my-project). The SDK puts region and project into the endpoint's host and
path, so a value of another shape fails only at the first call (a DNS error after retries)."""
BEDROCK_ID = re.compile(r"(arn:aws[a-z-]*:bedrock:|([a-z]{2,6}\.)?anthropic\.)")
"""A Bedrock foundation model id, inference profile id, or Bedrock ARN (matched at the start)."""

NO_ADAPTIVE_THINKING = re.compile(
    r"claude-(3|(sonnet|opus|haiku)-4-5|(sonnet|opus)-4(-1)?([-@][0-9]{8}|-v[0-9]|:|$))"
)
"""Model ids (of any provider) of the models with only manual thinking or none (Sonnet 4.5,
Opus 4.5, Haiku 4.5, Sonnet 4, Opus 4 and 4.1, Claude 3): the API refuses
`{"type": "adaptive"}` there with a 400 (docs/models.md 'Extended thinking')."""

PROVIDER_NAMES = {"anthropic": "the Anthropic API", "bedrock": "Bedrock", "vertex": "Vertex AI"}
LOOKS_LIKE = {
    "anthropic": "claude-sonnet-4-6",
    "bedrock": "anthropic.claude-sonnet-4-6 or us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "vertex": "claude-sonnet-4-6 or claude-haiku-4-5@20251001",
}


def model_id_owner(model: str) -> str | None:
    """The provider whose id `model` clearly is (`bedrock`, `vertex`), or None when unclear.

    A plain `claude-...` id is the Anthropic API's and Vertex AI's alike, so it owns none.
    """
    if BEDROCK_ID.match(model):
        return "bedrock"
    if "@" in model:
        return "vertex"
    return None


def model_id_problem(provider: str, model: str) -> str | None:
    """Why `model` cannot be an id of `provider`, or None when it may be."""
    owner = model_id_owner(model)
    foreign = owner is not None and owner != provider
    if provider == "bedrock" and model.startswith("claude-"):
        foreign, owner = True, "vertex" if "@" in model else "anthropic"
    if not foreign or owner is None:
        return None
    return (f"{model} is a model id of {PROVIDER_NAMES[owner]}, not of "
            f"{PROVIDER_NAMES[provider]} (OPSBOT_MODEL_PROVIDER={provider}), whose ids look like "
            f"{LOOKS_LIKE[provider]}")  # fmt: skip


def thinking_problem(settings: Settings) -> str | None:
    """Why OPSBOT_THINKING=adaptive cannot work with OPSBOT_MODEL (a model without adaptive
    thinking, where the endpoint offers thinking), or None. Only the agents think: the
    router's model is not checked."""
    offered = settings.model_features is None or "thinking" in settings.model_features
    if settings.thinking != "adaptive" or not offered:
        return None
    if not NO_ADAPTIVE_THINKING.search(settings.model):
        return None
    return (f"adaptive thinking is not offered by {settings.model} (OPSBOT_MODEL): use a "
            "model with it (claude-sonnet-4-6, claude-opus-4-6) or "
            "OPSBOT_THINKING=off")  # fmt: skip


def provider_problems(settings: Settings, credentials: bool = True) -> list[tuple[str, str]]:
    """Every `(variable, problem)` of the provider configuration; empty when none.

    With `credentials`, also whether the AWS or Google credential chain finds credentials (the
    AWS chain may ask the instance metadata service, Google's the GCE metadata server).
    """
    provider = settings.model_provider
    models = (("OPSBOT_MODEL", settings.model), ("OPSBOT_ROUTER_MODEL", settings.router_model))
    problems = [(variable, "is empty: name a model id") for variable, model in models
                if not model.strip()]  # fmt: skip
    if provider != "anthropic" or settings.anthropic_base_url is None:  # a gateway names its own
        for variable, model in models:
            if model.strip() and (why := model_id_problem(provider, model)):
                problems.append((variable, why))
    if why := thinking_problem(settings):
        problems.append(("OPSBOT_THINKING", why))
    if provider == "bedrock":
        problems.extend(_bedrock_problems(settings, credentials))
    elif provider == "vertex":
        problems.extend(_vertex_problems(settings, credentials))
    return problems


def _bedrock_problems(settings: Settings, credentials: bool) -> list[tuple[str, str]]:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError
    except ImportError:
        return [("OPSBOT_MODEL_PROVIDER", "bedrock needs boto3: pip install 'anthropic[bedrock]'")]
    try:
        session = boto3.Session(region_name=settings.aws_region)
        region = session.region_name
        found = session.get_credentials() if credentials else True
    except BotoCoreError as error:  # a profile that does not exist, a bad config file
        return [("AWS_PROFILE", str(error).replace("\n", " "))]
    problems: list[tuple[str, str]] = []
    if settings.aws_region is not None and not AWS_REGION.fullmatch(settings.aws_region):
        problems.append(("AWS_REGION", f"{settings.aws_region!r} is not an AWS region name "
                         "(lowercase, e.g. us-east-1 or eu-central-1)"))  # fmt: skip
    elif not region:
        problems.append(("AWS_REGION", "is required with OPSBOT_MODEL_PROVIDER=bedrock (or a "
                         "region in the AWS profile), e.g. us-east-1"))  # fmt: skip
    elif not AWS_REGION.fullmatch(region):
        problems.append(("AWS_REGION", f"the AWS profile's region {region!r} is not an AWS "
                         "region name (lowercase, e.g. us-east-1); set AWS_REGION"))  # fmt: skip
    if not settings.aws_bearer_token_bedrock and not found:
        problems.append(("AWS_ACCESS_KEY_ID", "no AWS credentials found for Bedrock: set "
                         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a role, "
                         "or AWS_BEARER_TOKEN_BEDROCK"))  # fmt: skip
    return problems


def _vertex_problems(settings: Settings, credentials: bool) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    project, region = settings.vertex_project_id, settings.vertex_region
    if project is None:
        problems.append(("ANTHROPIC_VERTEX_PROJECT_ID", "is required with "
                         "OPSBOT_MODEL_PROVIDER=vertex (the Google Cloud project)"))  # fmt: skip
    elif not GCP_PROJECT.fullmatch(project):
        problems.append(("ANTHROPIC_VERTEX_PROJECT_ID", f"{project!r} is not a Google Cloud "
                         "project id (6 to 30 lowercase letters, digits and hyphens, e.g. "
                         "my-project)"))  # fmt: skip
    if region is None:
        problems.append(("CLOUD_ML_REGION", "is required with OPSBOT_MODEL_PROVIDER=vertex "
                         "(e.g. us-east5, europe-west1 or global)"))  # fmt: skip
    elif not VERTEX_REGION.fullmatch(region):
        problems.append(("CLOUD_ML_REGION", f"{region!r} is not a Vertex AI region (lowercase, "
                         "e.g. us-east5, europe-west1 or global)"))  # fmt: skip
    if not credentials:
        return problems
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError:
        needs = "vertex needs google-auth: pip install 'anthropic[vertex]'"
        return [*problems, ("OPSBOT_MODEL_PROVIDER", needs)]
    try:
        google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError as error:
        why = str(error).split(". ")[0].replace("\n", " ")
        problems.append(("GOOGLE_APPLICATION_CREDENTIALS", f"no Google credentials for Vertex AI "
                         f"({why}): run `gcloud auth application-default login` or name a "
                         "credentials file"))  # fmt: skip
    return problems

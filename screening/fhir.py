"""screening records as FHIR R4 (registered with carecycle.fhir)."""
from __future__ import annotations


def questionnaire_id(key: str, language: str) -> str:
    """The FHIR id of instrument `key`'s Questionnaire in `language` (e.g. `phq9-zh-Hant`)."""
    return f"{key}-{language}".replace("_", "-")


def questionnaire_url(key: str, language: str) -> str:
    """The Questionnaire's canonical URL (what QuestionnaireResponse.questionnaire names)."""
    from carecycle.fhir import base_url
    return f"{base_url()}/Questionnaire/{questionnaire_id(key, language)}"


def register(app) -> None:
    """Registers nothing yet."""

"""Casework records as FHIR R4 (registered with carecycle.fhir): Patient, EpisodeOfCare, Consent
(patients.py), RiskAssessment, CarePlan and Goal (plans.py), QuestionnaireResponse and
Observation for the screenings on a case (screenings.py)."""
from __future__ import annotations


def register(app) -> None:
    from casework.fhir import patients, plans, screenings

    patients.register(app)
    plans.register(app)
    screenings.register(app)

"""Casework records as FHIR R4 (registered with carecycle.fhir): Patient, EpisodeOfCare, Consent
(patients.py), RiskAssessment, CarePlan and Goal (plans.py), QuestionnaireResponse and
Observation for the screenings on a case (screenings.py), signed contact notes as Communication
(notes.py)."""
from __future__ import annotations


def register(app) -> None:
    from casework.fhir import notes, patients, plans, screenings

    patients.register(app)
    plans.register(app)
    screenings.register(app)
    notes.register(app)

# SPDX-License-Identifier: Apache-2.0
"""Seeded synthetic B2B-distributor purchase data in the AWS Personalize CSV layout."""

from homerec.synth.generate import GenerateSummary, generate
from homerec.synth.population import POPULATION_FILE, Population

__all__ = ["POPULATION_FILE", "GenerateSummary", "Population", "generate"]

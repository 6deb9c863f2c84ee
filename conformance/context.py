"""What every property needs: the target, the policy, the paths, the Hypothesis settings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, settings

from conformance.suite_profiles import PROFILES
from conformance.targets import Target
from reference.policy import CorsPolicy


def hypothesis_settings(
    profile: str, *, max_examples: int | None = None, shrink: bool = True
) -> settings:
    if profile not in PROFILES:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown suite profile {profile!r} (known: {known})")
    return settings(
        max_examples=max_examples or PROFILES[profile],
        deadline=None,  # network targets: time is measured by the robustness checks instead
        database=None,  # same seed, same examples: reproducible across runs and workers
        print_blob=True,
        report_multiple_bugs=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
        phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if shrink else [])],
    )


@dataclass(slots=True, kw_only=True)
class SuiteContext:
    target: Target
    policy: CorsPolicy
    paths: tuple[str, ...] = ("/",)
    profile: str = "dev"
    seed: int | None = None
    max_examples: int | None = None
    occurrences: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    cases_sent: int = 0
    deadline: float | None = None  # time.monotonic() after which no new case is drawn
    not_applicable: int = 0
    # framework_configurations: generated policies tested, and those skipped by policy key
    policies_tested: int = 0
    inexpressible: Counter[str] = field(default_factory=Counter)
    shrink: bool = True  # False: report the first failing example as found (quick checks)

    @property
    def settings(self) -> settings:
        return hypothesis_settings(self.profile, max_examples=self.max_examples, shrink=self.shrink)

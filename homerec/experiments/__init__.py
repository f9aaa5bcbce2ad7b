# SPDX-License-Identifier: Apache-2.0
"""A/B experiments: assignment and exposure logging, attribution, statistics and reports.

Nothing is imported here. Serving imports only the light modules (assignment, specs); the
analysis modules (attribution, stats, report, report_html) pull in scipy and matplotlib and
are imported where they are needed.
"""

# SPDX-License-Identifier: Apache-2.0
"""The `homerec` command line."""

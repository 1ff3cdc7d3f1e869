"""Typed models of opsbook.yaml and the loader that reports located errors.

Import from the submodules (`opsbook.config.loader`, `opsbook.config.models`): this
package init stays empty so check kinds can import `opsbook.config.types` without a cycle.
"""

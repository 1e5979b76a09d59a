"""The ballot: template (YAML -> typed), the one geometry (layout, mm), print-ready PDFs, sheet code, fonts."""

"""Server-rendered pages for practitioners (GOV.UK Frontend), usable without JavaScript."""

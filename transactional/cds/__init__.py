"""Clinical decision support: versioned rules as data, their evaluation on the patient's
latest data, the alerts they raise, and the card sources behind the CDS Hooks service."""

"""Clinical alerts from every decision-support source, and the clinician inbox that reads them."""

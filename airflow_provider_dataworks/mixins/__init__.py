"""What the operator and the sensor share: quota deferral, deferral and completion handling."""

"""Outputs for staff: the HTML report, the workbook and the console ranking digest."""

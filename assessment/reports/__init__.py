"""What people read: the PDF memo, the assessment workbook, the PDF house style."""

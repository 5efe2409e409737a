"""HTML pages of payments: the hosted checkout, the merchant portal, the staff pages, exports."""

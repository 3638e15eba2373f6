"""The CRM's pages: records (CRM-01), CRM Setup (CRM-02, 03, 15, 16) and the Desk Setup's
integration keys."""

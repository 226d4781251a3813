"""Ingestion: turning files the user already has into memory drafts."""

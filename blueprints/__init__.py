"""Blueprints (BP): process definitions for a department's tickets, and the engine that moves
tickets through them. See README "Blueprints"."""

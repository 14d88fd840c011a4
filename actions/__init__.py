"""OpsDesk custom actions (rasa_sdk). Run: rasa run actions --actions actions"""

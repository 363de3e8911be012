"""Message understanding: sentiment, intent, urgency, abuse and language, offline on a CPU."""

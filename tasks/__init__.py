"""One thin module per DVC stage; ``tasks._stage`` runs any declared stage."""

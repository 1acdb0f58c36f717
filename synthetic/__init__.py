"""A synthetic estate: prisons, officers and people's journeys through custody,
recorded with the domain's own commands. Every name and number in it is made up."""

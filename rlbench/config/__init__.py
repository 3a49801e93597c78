"""params.yaml, validated (``params``); a suite planned into runs with their ids (``plan``); what a run id covers (``identity``);
what each environment's episodes can be (``bounds``)."""

"""The page: one Gradio Blocks with a tab per capability. Tab modules only wire components to
the service facade (bertlab.service.Service) and never import torch."""

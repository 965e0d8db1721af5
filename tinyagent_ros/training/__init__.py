"""Planner fine-tuning: LoRA on synthetic (prompt, plan) pairs, exported as a GGUF adapter.

Optional: needs the packages of ``requirements-train.txt`` (torch, transformers,
peft, gguf). ``examples`` builds the training pairs with the runtime prompt,
``lora`` trains, ``export`` converts the adapter with llama.cpp's converter,
``evaluate`` compares planners on a dataset, ``cli`` is ``tinyagent train``.
"""

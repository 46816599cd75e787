"""Client of the 電子処方箋管理サービス: its XML messages (messages.py) over the 資格確認端末 (client.py), and the
doctor's XAdES signature (signing.py). Depends on requests, lxml, signxml and cryptography only."""
